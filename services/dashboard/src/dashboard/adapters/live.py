"""Live pages: the read model's changes, heard from PostgreSQL (LISTEN on the channel the writing
transactions NOTIFY on commit) and handed to every open page's event stream."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from jsp_common.db import asyncpg_dsn
from jsp_common.logs import get_logger
from jsp_common.tasks import cancel_until_done

from .writes import CHANNEL

log = get_logger(__name__)
RECONNECTED = "reconnected"  # told after the feed's connection came back, as an area changed


class ChangeFeed:
    """One LISTEN connection per process; each subscriber gets the areas changed (``clues``, ...), or those of them
    it asked for."""

    def __init__(self, database_url: str, reconnect_s: float = 2.0):
        self._dsn = asyncpg_dsn(database_url)
        self._reconnect_s = reconnect_s
        self._subscribers: dict[asyncio.Queue[str], frozenset[str] | None] = {}
        self._hooks: list = []
        self._task: asyncio.Task | None = None

    def on_change(self, hook) -> None:
        """Call ``hook(area)`` as soon as a change is heard (before any subscriber's queue is read)."""
        self._hooks.append(hook)

    def subscribe(self, areas: frozenset[str] | None = None) -> asyncio.Queue[str]:
        """A queue of the areas changed, only those in ``areas`` (None: every one)."""
        q: asyncio.Queue[str] = asyncio.Queue(maxsize=100)
        self._subscribers[q] = areas
        return q

    def unsubscribe(self, q: asyncio.Queue[str]) -> None:
        self._subscribers.pop(q, None)

    def _tell(self, area: str) -> None:
        for q, areas in list(self._subscribers.items()):
            if areas is None or area in areas:
                with contextlib.suppress(asyncio.QueueFull):  # a slow page refreshes on a later change anyway
                    q.put_nowait(area)

    def _heard(self, connection, pid, channel, payload: str) -> None:
        for hook in self._hooks:
            hook(payload)
        self._tell(payload)

    async def _listen(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
                try:
                    await conn.add_listener(CHANNEL, self._heard)
                    while not conn.is_closed():
                        await asyncio.sleep(self._reconnect_s)
                finally:
                    with contextlib.suppress(Exception):
                        await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database comes back; pages keep their last figures
                log.warning("change feed lost its connection", error=type(exc).__name__)
            for hook in self._hooks:
                hook(RECONNECTED)
            self._tell(RECONNECTED)  # changes may have been missed: let the pages refresh
            await asyncio.sleep(self._reconnect_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="dashboard-change-feed")

    async def stop(self) -> None:
        await cancel_until_done(self._task)
